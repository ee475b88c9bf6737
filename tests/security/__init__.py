"""Helpers of the security proof (issue 15): the world the access matrix and the form
fuzz run in, and the write counter that shows a refused request changed nothing."""
