"""Pixels and colours, without Textual: which part of an image the cells show (viewport), the
frame with its labels drawn on it (canvas, pictures drawn ahead), the palette, the timeline."""
