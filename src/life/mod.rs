//! Conway's Game of Life (B3/S23), shared by the worker and the head: the
//! packed board, the kernel, the pattern formats and the pictures.

pub mod board;

pub use board::{Board, Edges};
