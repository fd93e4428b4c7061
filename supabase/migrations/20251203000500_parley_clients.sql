-- request_logs.client: the client that sent an API call (claude-code, openai-python, ...;
-- core/api/clients.py), generated from the call's metadata as eval_run_id is, so
-- parley_record_calls is unchanged and spend can be grouped by client and user; and a call's
-- kind may be 'embedding' (POST /v1/embeddings).
alter table public.request_logs add column if not exists client text
  generated always as (metadata ->> 'client') stored;
create index if not exists request_logs_client_created_idx on public.request_logs (client, created_at)
  where client is not null;
alter table public.request_logs drop constraint if exists request_logs_kind_check;
alter table public.request_logs add constraint request_logs_kind_check
  check (kind in ('chat', 'image', 'embedding'));
