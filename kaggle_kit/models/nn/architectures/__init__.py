"""The nets, one module per family. Each module's ``build(params, inputs, n_outputs)`` makes the ``nn.Module`` from
the validated params and the fitted input state (shapes, cardinalities), so a saved model is rebuilt from JSON.

Forward signatures: ``MLP(x_num, x_cat)``, ``ImageCNN(x)``, ``RNN(x, lengths)``, ``CNN1D(x, lengths)``.
"""
