DROP INDEX users_display_name_trgm_idx;
DROP INDEX users_username_trgm_idx;
DROP INDEX mines_search_trgm_idx;
