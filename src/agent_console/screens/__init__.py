"""One screen per module; a screen is the controller of its widgets."""
