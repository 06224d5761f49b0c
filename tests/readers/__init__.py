"""Tests of the input readers (HAR, curl -v transcripts, text logs)."""
