"""The verifiable audit log: RFC 9162 Merkle tree, C2SP checkpoints and receipts."""
