DROP TABLE calendar_feeds;
DROP TABLE consultation_counters;
DROP TABLE consultation_agenda;
DROP TABLE consultation_invitees;
DROP TABLE consultations;
DROP TABLE consultation_requests;
