-- Parley: daily rollups kept current on write, monthly per-user totals, and the two
-- functions every backend calls: parley_record_calls (write) and parley_usage (read).

create table if not exists public.usage_daily (
  day date not null,                              -- UTC day of created_at
  user_id text not null,
  provider text not null,
  model text not null,
  service_type text not null,
  is_demo boolean not null default false,
  calls bigint not null default 0,
  failures bigint not null default 0,
  input_tokens bigint not null default 0,
  output_tokens bigint not null default 0,
  total_tokens bigint not null default 0,
  cost numeric not null default 0,                -- sum of known prices only
  unpriced_calls bigint not null default 0,       -- calls whose total_cost is NULL (unknown)
  primary key (day, user_id, provider, model, service_type, is_demo)
);
create index if not exists usage_daily_user_day_idx on public.usage_daily (user_id, day);

alter table public.usage_daily enable row level security;
revoke all on table public.usage_daily from public, anon, authenticated;
grant select on table public.usage_daily to authenticated;
grant select, insert, update, delete on table public.usage_daily to service_role;
drop policy if exists usage_daily_read_own on public.usage_daily;
create policy usage_daily_read_own on public.usage_daily for select to authenticated
  using (user_id = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
drop policy if exists usage_daily_service on public.usage_daily;
create policy usage_daily_service on public.usage_daily
  for all to service_role using (true) with check (true);

-- Monthly per-user totals with model and provider breakdowns, derived from usage_daily
-- (so it is always exact); security_invoker makes usage_daily's row-level security apply.
create or replace view public.tokens_usage with (security_invoker = true) as
with monthly as (
  select date_trunc('month', day)::date as month, user_id, provider, model,
         sum(calls) as calls, sum(input_tokens) as input_tokens,
         sum(output_tokens) as output_tokens, sum(cost) as cost,
         sum(unpriced_calls) as unpriced_calls
  from public.usage_daily
  group by 1, 2, 3, 4
), by_model as (
  select month, user_id, model, sum(calls) as calls, sum(input_tokens) as input_tokens,
         sum(output_tokens) as output_tokens, sum(cost) as cost
  from monthly group by 1, 2, 3
), by_provider as (
  select month, user_id, provider, sum(calls) as calls, sum(input_tokens) as input_tokens,
         sum(output_tokens) as output_tokens, sum(cost) as cost
  from monthly group by 1, 2, 3
)
select t.month, t.user_id, t.calls, t.input_tokens, t.output_tokens, t.cost, t.unpriced_calls,
       m.models, p.providers
from (select month, user_id, sum(calls) as calls, sum(input_tokens) as input_tokens,
             sum(output_tokens) as output_tokens, sum(cost) as cost,
             sum(unpriced_calls) as unpriced_calls
      from monthly group by 1, 2) t
join (select month, user_id,
             jsonb_object_agg(model, jsonb_build_object('calls', calls, 'input_tokens', input_tokens,
                              'output_tokens', output_tokens, 'cost', cost)) as models
      from by_model group by 1, 2) m using (month, user_id)
join (select month, user_id,
             jsonb_object_agg(provider, jsonb_build_object('calls', calls, 'input_tokens', input_tokens,
                              'output_tokens', output_tokens, 'cost', cost)) as providers
      from by_provider group by 1, 2) p using (month, user_id);

revoke all on table public.tokens_usage from public, anon, authenticated;
grant select on table public.tokens_usage to authenticated, service_role;

-- Insert a batch of call records (a JSON array of CallRecord rows) idempotently by call_id
-- and fold the newly inserted ones into usage_daily, in one statement (one transaction).
-- Returns how many rows were new. Input is sorted by key so concurrent batches lock in
-- the same order and cannot deadlock.
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
      is_demo boolean, messages jsonb, response text, metadata jsonb)
    order by r.call_id
  ), new_rows as (
    insert into public.request_logs (
      litellm_call_id, created_at, user_id, service_type, model, provider, provider_model,
      status, error_class, error, input_tokens, output_tokens, total_tokens, total_cost,
      response_time_ms, ttft_ms, fallback_of, is_demo, messages, response, metadata)
    select call_id, coalesce(created_at, now()), user_id, service_type, model, provider,
           coalesce(provider_model, ''), status, error_class, error, coalesce(input_tokens, 0),
           coalesce(output_tokens, 0), coalesce(total_tokens, 0), total_cost, response_time_ms,
           ttft_ms, fallback_of, coalesce(is_demo, false), messages, response,
           coalesce(metadata, '{}'::jsonb)
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

-- Spend grouped by user | model | provider | service | day, read from usage_daily only,
-- under the caller's row-level security. Rows: key, calls, failures, input_tokens,
-- output_tokens, total_tokens, cost, unpriced_calls, demo_calls; by cost desc (day: day asc).
create or replace function public.parley_usage(
  p_by text, p_user_id text default null, p_since date default null, p_until date default null
) returns jsonb
language plpgsql stable
set search_path = public, pg_temp
as $$
begin
  if p_by is null or p_by not in ('user', 'model', 'provider', 'service', 'day') then
    raise exception 'usage cannot be grouped by %', coalesce(p_by, 'nothing')
      using errcode = '22023';
  end if;
  return (
    select coalesce(jsonb_agg(to_jsonb(g) order by
                      case when p_by = 'day' then g.key end, g.cost desc, g.key), '[]'::jsonb)
    from (
      select case p_by when 'user' then user_id when 'model' then model
                       when 'provider' then provider when 'service' then service_type
                       else to_char(day, 'YYYY-MM-DD') end as key,
             sum(calls) as calls, sum(failures) as failures,
             sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens,
             sum(total_tokens) as total_tokens, sum(cost) as cost,
             sum(unpriced_calls) as unpriced_calls,
             coalesce(sum(calls) filter (where is_demo), 0) as demo_calls
      from public.usage_daily
      where (p_user_id is null or user_id = p_user_id)
        and (p_since is null or day >= p_since)
        and (p_until is null or day <= p_until)
      group by 1
    ) g
  );
end
$$;

revoke execute on function public.parley_record_calls(jsonb) from public, anon, authenticated;
grant execute on function public.parley_record_calls(jsonb) to service_role;
revoke execute on function public.parley_usage(text, text, date, date) from public, anon;
grant execute on function public.parley_usage(text, text, date, date) to authenticated, service_role;
