"""The reinforcement-learning core: returns and advantages (pure maths), the policy and
Q heads (a distribution owns its log-prob, entropy and their derivatives), the networks
and their by-hand chain rule, buffers, collection and environment specs.

Never imports streamlit."""
