"""The app's demonstrations and measurements, as pure functions: gradient variance, the
smoothness of a policy against an argmax, rock-paper-scissors, the value-vs-policy experiment
and the DQN exercises' figures, and the small statistics across seeds they share (``stats``).

Never imports streamlit."""
