//! SQL storage (placeholder until implemented).
