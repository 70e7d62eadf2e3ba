"""Forward reinforcement learners (PPO, SAC) and the loops, rollouts and evaluation they share."""
