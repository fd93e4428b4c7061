-- Parley: indexes for the calls explorer (core/store/calls.py). A page is read by keyset
-- ((sort key, id) < cursor) ORDER BY sort key DESC, id DESC: each index below ends in id so
-- the walk starts at the cursor, whatever the page's depth.

create index if not exists request_logs_created_id_idx
  on public.request_logs (created_at desc, id desc);
create index if not exists request_logs_user_created_id_idx
  on public.request_logs (user_id, created_at desc, id desc);
create index if not exists request_logs_model_created_idx
  on public.request_logs (model, created_at desc, id desc);
create index if not exists request_logs_service_created_idx
  on public.request_logs (service_type, created_at desc, id desc);
create index if not exists request_logs_provider_created_idx
  on public.request_logs (provider, created_at desc, id desc);
create index if not exists request_logs_failures_id_idx
  on public.request_logs (created_at desc, id desc) where status = 'failure';
create index if not exists request_logs_fallbacks_idx
  on public.request_logs (created_at desc, id desc) where fallback_of is not null;
create index if not exists request_logs_cost_idx
  on public.request_logs ((coalesce(total_cost, -1.0)) desc, id desc);
create index if not exists request_logs_user_cost_idx
  on public.request_logs (user_id, (coalesce(total_cost, -1.0)) desc, id desc);
