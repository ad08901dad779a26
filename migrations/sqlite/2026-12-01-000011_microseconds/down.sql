-- Nothing to undo: the digits cut off are not kept.
SELECT 1;
