"""The run machinery: folds, the store, the runner and its executors, the search and its time budget."""
