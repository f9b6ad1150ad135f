//! vga
