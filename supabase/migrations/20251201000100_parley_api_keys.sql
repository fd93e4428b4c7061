-- Parley: the HTTP API's keys, and on each call the key it came through and what the
-- response cache did (request_logs.key_id, cache_hit, saved_cost).
--
-- Only a SHA-256 of a key's secret is stored, with its first characters (prefix) for display.
-- A user reads, creates and revokes only their own keys (admins: anyone's); the sha256 column
-- is never granted to users. The API authenticates through parley_authenticate_key (security
-- definer, service role only): it hands back the one key whose hash matches, not the table.

create table if not exists public.api_keys (
  id text primary key,
  user_id text not null,
  prefix text not null unique,
  sha256 text not null unique,
  name text not null default '',
  service_type text,
  models jsonb,
  monthly_budget numeric,
  rate_limit_per_minute integer,
  expires_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  created_by text not null,
  constraint api_keys_budget_positive check (monthly_budget is null or monthly_budget >= 0),
  constraint api_keys_rate_positive check (rate_limit_per_minute is null or rate_limit_per_minute > 0)
);
create index if not exists api_keys_user_idx on public.api_keys (user_id);

alter table public.api_keys enable row level security;
revoke all on table public.api_keys from public, anon, authenticated;
grant select (id, user_id, prefix, name, service_type, models, monthly_budget,
              rate_limit_per_minute, expires_at, revoked_at, created_at, created_by)
  on table public.api_keys to authenticated;
grant insert on table public.api_keys to authenticated;
grant update (revoked_at) on table public.api_keys to authenticated;
grant select, insert, update, delete on table public.api_keys to service_role;
drop policy if exists api_keys_read_own on public.api_keys;
create policy api_keys_read_own on public.api_keys for select to authenticated
  using (user_id = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
drop policy if exists api_keys_insert_own on public.api_keys;
create policy api_keys_insert_own on public.api_keys for insert to authenticated
  with check (user_id = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
drop policy if exists api_keys_revoke_own on public.api_keys;
create policy api_keys_revoke_own on public.api_keys for update to authenticated
  using (user_id = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
drop policy if exists api_keys_service on public.api_keys;
create policy api_keys_service on public.api_keys
  for all to service_role using (true) with check (true);

alter table public.request_logs add column if not exists key_id text;
alter table public.request_logs add column if not exists cache_hit boolean not null default false;
alter table public.request_logs add column if not exists saved_cost numeric;
create index if not exists request_logs_key_created_idx on public.request_logs (key_id, created_at)
  where key_id is not null;
create index if not exists request_logs_cache_hits_idx on public.request_logs (created_at)
  where cache_hit;

-- What the response cache saved, per user and model, between two days (admins: everyone;
-- a user: their own rows, under row-level security): [{user, model, hits, saved}].
create or replace function public.parley_cache_savings(p_since date, p_until date) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(jsonb_build_object('user', user_id, 'model', model, 'hits', hits,
                                               'saved', saved) order by saved desc, user_id, model),
                  '[]'::jsonb)
  from (select user_id, model, count(*) as hits, coalesce(sum(saved_cost), 0) as saved
        from public.request_logs
        where cache_hit and created_at >= p_since and created_at < p_until + 1
        group by user_id, model) s
$$;

-- Store one key (p_row: the api_keys columns) under the caller's row-level security.
create or replace function public.parley_create_key(p_row jsonb) returns void
language sql volatile
set search_path = public, pg_temp
as $$
  insert into public.api_keys (id, user_id, prefix, sha256, name, service_type, models,
                               monthly_budget, rate_limit_per_minute, expires_at, created_at,
                               created_by)
  select r.id, r.user_id, r.prefix, r.sha256, coalesce(r.name, ''), r.service_type, r.models,
         r.monthly_budget, r.rate_limit_per_minute, r.expires_at, coalesce(r.created_at, now()),
         r.created_by
  from jsonb_to_record(p_row) as r(id text, user_id text, prefix text, sha256 text, name text,
       service_type text, models jsonb, monthly_budget numeric, rate_limit_per_minute integer,
       expires_at timestamptz, created_at timestamptz, created_by text)
$$;

-- The keys the caller may see (p_user_id null: all of those), newest first, without hashes.
create or replace function public.parley_list_keys(p_user_id text default null) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', id, 'user_id', user_id, 'prefix', prefix, 'name', name,
           'service_type', service_type, 'models', models, 'monthly_budget', monthly_budget,
           'rate_limit_per_minute', rate_limit_per_minute, 'expires_at', expires_at,
           'revoked_at', revoked_at, 'created_at', created_at, 'created_by', created_by)
         order by created_at desc, prefix), '[]'::jsonb)
  from public.api_keys where p_user_id is null or user_id = p_user_id
$$;

-- Revoke the key with this prefix (if the caller may); returns its row, or null.
create or replace function public.parley_revoke_key(p_prefix text) returns jsonb
language sql volatile
set search_path = public, pg_temp
as $$
  update public.api_keys set revoked_at = coalesce(revoked_at, now())
  where prefix = p_prefix
  returning jsonb_build_object('id', id, 'user_id', user_id, 'prefix', prefix,
                               'revoked_at', revoked_at)
$$;

-- The key whose secret hashes to p_sha256, with its month's spend, or null.
create or replace function public.parley_authenticate_key(p_sha256 text, p_month_start timestamptz)
returns jsonb
language sql stable security definer
set search_path = public, pg_temp
as $$
  select jsonb_build_object(
           'id', k.id, 'user_id', k.user_id, 'prefix', k.prefix, 'name', k.name,
           'service_type', k.service_type, 'models', k.models, 'monthly_budget', k.monthly_budget,
           'rate_limit_per_minute', k.rate_limit_per_minute, 'expires_at', k.expires_at,
           'revoked_at', k.revoked_at, 'created_at', k.created_at, 'created_by', k.created_by,
           'month_spend', (select coalesce(sum(l.total_cost), 0) from public.request_logs l
                           where l.key_id = k.id and l.created_at >= p_month_start))
  from public.api_keys k where k.sha256 = p_sha256
$$;

-- parley_record_calls as in 20251124000100_parley_token_classes.sql, now carrying key_id and
-- cache_hit too.
create or replace function public.parley_record_calls(p_rows jsonb) returns integer
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
  inserted integer;
begin
  with incoming as (
    select r.* from jsonb_to_recordset(p_rows) as r(
      call_id text, created_at timestamptz, user_id text, service_type text, model text,
      provider text, provider_model text, status text, error_class text, error text,
      input_tokens integer, output_tokens integer, total_tokens integer, total_cost numeric,
      response_time_ms double precision, ttft_ms double precision, fallback_of text,
      is_demo boolean, messages jsonb, response text, metadata jsonb, kind text,
      reasoning_tokens integer, cache_read_tokens integer, cache_write_tokens integer,
      tool_calls integer, saved_cost numeric, key_id text, cache_hit boolean)
    order by r.call_id
  ), new_rows as (
    insert into public.request_logs (
      litellm_call_id, created_at, user_id, service_type, model, provider, provider_model,
      status, error_class, error, input_tokens, output_tokens, total_tokens, total_cost,
      response_time_ms, ttft_ms, fallback_of, is_demo, messages, response, metadata,
      kind, reasoning_tokens, cache_read_tokens, cache_write_tokens, tool_calls, saved_cost,
      key_id, cache_hit)
    select call_id, coalesce(created_at, now()), user_id, service_type, model, provider,
           coalesce(provider_model, ''), status, error_class, error, coalesce(input_tokens, 0),
           coalesce(output_tokens, 0), coalesce(total_tokens, 0), total_cost, response_time_ms,
           ttft_ms, fallback_of, coalesce(is_demo, false), messages, response,
           coalesce(metadata, '{}'::jsonb), coalesce(kind, 'chat'), coalesce(reasoning_tokens, 0),
           coalesce(cache_read_tokens, 0), coalesce(cache_write_tokens, 0),
           coalesce(tool_calls, 0), saved_cost, key_id, coalesce(cache_hit, false)
    from incoming
    on conflict (litellm_call_id) do nothing
    returning created_at, user_id, provider, model, service_type, is_demo, status,
              input_tokens, output_tokens, total_tokens, total_cost
  ), rolled_up as (
    insert into public.usage_daily as u (
      day, user_id, provider, model, service_type, is_demo, calls, failures,
      input_tokens, output_tokens, total_tokens, cost, unpriced_calls)
    select (created_at at time zone 'UTC')::date, user_id, provider, model, service_type,
           is_demo, count(*), count(*) filter (where status = 'failure'), sum(input_tokens),
           sum(output_tokens), sum(total_tokens), coalesce(sum(total_cost), 0),
           count(*) filter (where total_cost is null)
    from new_rows
    group by 1, 2, 3, 4, 5, 6
    order by 1, 2, 3, 4, 5, 6
    on conflict (day, user_id, provider, model, service_type, is_demo) do update set
      calls = u.calls + excluded.calls,
      failures = u.failures + excluded.failures,
      input_tokens = u.input_tokens + excluded.input_tokens,
      output_tokens = u.output_tokens + excluded.output_tokens,
      total_tokens = u.total_tokens + excluded.total_tokens,
      cost = u.cost + excluded.cost,
      unpriced_calls = u.unpriced_calls + excluded.unpriced_calls
    returning 1
  )
  select count(*) into inserted from new_rows;
  return inserted;
end
$$;

revoke execute on function public.parley_create_key(jsonb) from public, anon;
grant execute on function public.parley_create_key(jsonb) to authenticated, service_role;
revoke execute on function public.parley_list_keys(text) from public, anon;
grant execute on function public.parley_list_keys(text) to authenticated, service_role;
revoke execute on function public.parley_revoke_key(text) from public, anon;
grant execute on function public.parley_revoke_key(text) to authenticated, service_role;
revoke execute on function public.parley_authenticate_key(text, timestamptz) from public, anon, authenticated;
grant execute on function public.parley_authenticate_key(text, timestamptz) to service_role;
revoke execute on function public.parley_cache_savings(date, date) from public, anon;
grant execute on function public.parley_cache_savings(date, date) to authenticated, service_role;
revoke execute on function public.parley_record_calls(jsonb) from public, anon, authenticated;
grant execute on function public.parley_record_calls(jsonb) to service_role;
