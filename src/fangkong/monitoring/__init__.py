"""Home health monitoring (居家健康监测): reports, alerts and their tasks, self-report
links, the community's worklist."""
