"""Live data from the board: framed records taken out of its output stream."""
