"""The pages people touch: residents, liaisons, dispatchers, departments, duty officers."""
