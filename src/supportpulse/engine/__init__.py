"""The live engine: sources flowing into the store, with checkpoints."""
