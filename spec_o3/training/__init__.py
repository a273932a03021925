"""Post-training of vetting agents: cold-start SFT on inspection trajectories, then GRPO.

The two stages of the Spec-o3 paper on the Hugging Face stack (TRL, PEFT, Accelerate, transformers):

- :mod:`~spec_o3.training.data`: SFT conversations from the scripted expert's inspections of
  labelled suites (simulated or real), a loader for released ShareGPT-style data, and label-only RL
  questions -- all in exactly the protocol the agent speaks;
- :mod:`~spec_o3.training.reviewed`: a results table merged with reviewers' decisions as SFT
  conversations (corrected where the reviewer disagreed) and as labelled RL questions;
- :mod:`~spec_o3.training.sft`: TRL ``SFTTrainer``, assistant-only loss, full fine-tuning with the
  vision tower frozen or LoRA/QLoRA;
- :mod:`~spec_o3.training.rl`: TRL ``GRPOTrainer`` with the zoom tool live in the rollouts and the
  rewards of :mod:`~spec_o3.training.rewards`;
- :mod:`~spec_o3.training.config`: the settings of both stages, from YAML and the command line;
- :mod:`~spec_o3.training.tiny`: a tiny Qwen-VL model built offline, for tests and demos.

``spec-o3 train {tiny-model,sft-data,sft,rl}`` runs them; see :doc:`/training`.

The training stack (torch, transformers, TRL, PEFT, Accelerate, datasets) is an optional
dependency: install it with ``pip install "spec-o3[training]"``. Nothing here imports it at
package import time.
"""
