"""Standalone demonstrations that are not training runs: gradient variance, the
smoothness of a policy against an argmax, and rock-paper-scissors.

Never imports streamlit."""
