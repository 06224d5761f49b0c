"""Reports: render analysis results as text, JSON and other formats; they compute nothing."""
