-- Parley: one row per provider attempt. Only the service role writes; users read their own.

create table if not exists public.request_logs (
  id bigint generated always as identity primary key,
  litellm_call_id text not null unique,          -- the idempotency key
  created_at timestamptz not null default now(),
  user_id text not null,
  service_type text not null,
  model text not null,                            -- configured name (what users pick)
  provider text not null,
  provider_model text not null default '',
  status text not null check (status in ('success', 'failure')),
  error_class text,
  error text,                                     -- redacted; never a secret
  input_tokens integer not null default 0,
  output_tokens integer not null default 0,
  total_tokens integer not null default 0,
  total_cost numeric,                             -- NULL = the price is unknown
  response_time_ms double precision,
  ttft_ms double precision,
  fallback_of text,                               -- call id of the attempt this one replaced
  is_demo boolean not null default false,
  messages jsonb,                                 -- only as the privacy setting allows
  response text,
  metadata jsonb not null default '{}'::jsonb
);

create index if not exists request_logs_user_created_idx
  on public.request_logs (user_id, created_at desc);
create index if not exists request_logs_created_idx on public.request_logs (created_at desc);
create index if not exists request_logs_failures_idx
  on public.request_logs (created_at desc) where status = 'failure';

alter table public.request_logs enable row level security;
revoke all on table public.request_logs from public, anon, authenticated;
grant select on table public.request_logs to authenticated;
grant select, insert, update, delete on table public.request_logs to service_role;

drop policy if exists request_logs_read_own on public.request_logs;
create policy request_logs_read_own on public.request_logs for select to authenticated
  using (user_id = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
drop policy if exists request_logs_service on public.request_logs;
create policy request_logs_service on public.request_logs
  for all to service_role using (true) with check (true);
