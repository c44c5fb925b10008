"""documents: uploads in S3, virus scan, checks, download links, retention."""
