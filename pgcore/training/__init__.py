"""One run: its config (fields, presets), the training loop and its events, greedy
evaluations, checkpoints, metrics, frames and the reference bands.

Never imports streamlit."""
