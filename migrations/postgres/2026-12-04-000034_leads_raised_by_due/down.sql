DROP INDEX leads_raised_by_due_idx;
