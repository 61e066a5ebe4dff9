"""What every benchmark shares: memory sampling, result stamps, output folders."""
