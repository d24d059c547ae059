"""`make bench`: clobsim against hftbacktest on one seeded Polymarket-like L2 stream."""
