"""Keeping history current: new landing files, stale months, schedules and sensors."""
