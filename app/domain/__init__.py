"""The election model and its rules. No HTTP, no templates, no realtime imports."""
