"""One module per API resource; each is thin: read the request, call the models, render."""
