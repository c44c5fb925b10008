"""routing: the Jobcenter register and the assignment of every case."""
