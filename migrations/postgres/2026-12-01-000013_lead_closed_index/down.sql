DROP INDEX leads_closed_idx;
