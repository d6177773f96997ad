"""Training on a Ray cluster: a remote trainer with the local Trainer's interface, and batches of scenes.

Ray is optional (``pip install 'sparsenerf-studio[cluster]'``). Nothing outside this package imports
it, and the modules here import it only inside functions, so the rest of the app never needs it.

- ``connect``: import Ray lazily (one-sentence install hint), require the cluster's token, connect.
- ``actor``: ``TrainerActor``, the code that runs on a cluster node around ``nerf.trainer.Trainer``.
- ``remote_trainer``: ``RemoteTrainer``, what the CLI and the studio drive instead of a local Trainer.
- ``run_sync``: writes the remote run folder back on this machine as training goes.
- ``batch``: ``sparsenerf batch``: one Ray task per scene (train + evaluate), progress, summary.
"""
