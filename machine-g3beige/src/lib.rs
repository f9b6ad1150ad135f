//! The Power Macintosh G3 (Beige) board.
