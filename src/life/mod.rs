//! Conway's Game of Life (B3/S23), shared by the worker and the head: the
//! packed board, the kernel, the pattern formats and the pictures.

pub mod board;
pub mod kernel;
pub mod pattern;
pub mod picture;
pub mod random;
pub mod show;

pub use board::{Board, Edges};
