"""Post-training of vetting agents: cold-start SFT on inspection trajectories, then outcome-rewarded GRPO.

The training stack (torch, transformers, TRL, PEFT, Accelerate) is an optional dependency:
install it with ``pip install "spec-o3[training]"``. Nothing here imports it at package import time.
"""
