//! grackle
