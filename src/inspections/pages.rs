//! 综合查一次 pages.
