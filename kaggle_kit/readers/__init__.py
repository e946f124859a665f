"""Reading a competition: the tables, and the image files or long sequence tables joined to them."""
