"""teamboard: the demo product (workspaces, projects, tasks, comments) that `hyper demo` runs."""
