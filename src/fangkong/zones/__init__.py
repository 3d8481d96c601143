"""Risk zones (分区分级) and the city\x27s differentiated reopening."""
