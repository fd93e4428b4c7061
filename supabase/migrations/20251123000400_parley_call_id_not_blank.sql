-- Parley: the call id is the idempotency key, and an empty one would make unrelated calls
-- collide. The recorder hands its spool lines to parley_record_calls as they are, so the
-- table refuses a blank id itself (a data error: the recorder then sets that record aside).
-- NOT VALID: rows already stored are not re-checked.
alter table public.request_logs drop constraint if exists request_logs_call_id_not_blank;
alter table public.request_logs add constraint request_logs_call_id_not_blank
  check (litellm_call_id <> '') not valid;
