-- Parley: the cost console's rollups (core/store/console.py) and its two reads.
--
-- performance_daily: fallbacks and latency histograms (response time, time to first token)
-- on usage_daily's key. Bucket i counts values v with bounds[i-1] <= v < bounds[i]
-- (width_bucket; the bounds are LATENCY_BOUNDS_MS). Both rollups are also kept at coarser
-- grains, so a console query reads rows bounded by days x what it groups by, not by calls:
-- *_daily_models (no user; admins only), usage_daily_users, usage_monthly.
-- All are kept current by one statement trigger on request_logs inserts (usage_daily stays
-- parley_record_calls's), and read only through parley_console_usage / _performance.

create table if not exists public.performance_daily_models (
  day date not null, provider text not null, model text not null,
  service_type text not null, is_demo boolean not null default false, fallbacks bigint not null default 0,
  rt_00 bigint not null default 0, rt_01 bigint not null default 0, rt_02 bigint not null default 0,
  rt_03 bigint not null default 0, rt_04 bigint not null default 0, rt_05 bigint not null default 0,
  rt_06 bigint not null default 0, rt_07 bigint not null default 0, rt_08 bigint not null default 0,
  rt_09 bigint not null default 0, rt_10 bigint not null default 0, rt_11 bigint not null default 0,
  rt_12 bigint not null default 0, rt_13 bigint not null default 0, rt_14 bigint not null default 0,
  rt_15 bigint not null default 0, rt_16 bigint not null default 0, ttft_00 bigint not null default 0,
  ttft_01 bigint not null default 0, ttft_02 bigint not null default 0, ttft_03 bigint not null default 0,
  ttft_04 bigint not null default 0, ttft_05 bigint not null default 0, ttft_06 bigint not null default 0,
  ttft_07 bigint not null default 0, ttft_08 bigint not null default 0, ttft_09 bigint not null default 0,
  ttft_10 bigint not null default 0, ttft_11 bigint not null default 0, ttft_12 bigint not null default 0,
  ttft_13 bigint not null default 0, ttft_14 bigint not null default 0, ttft_15 bigint not null default 0,
  ttft_16 bigint not null default 0,
  primary key (day, provider, model, service_type, is_demo)
);
alter table public.performance_daily_models enable row level security;
revoke all on table public.performance_daily_models from public, anon, authenticated;
grant select on table public.performance_daily_models to authenticated;
grant select, insert, update, delete on table public.performance_daily_models to service_role;
drop policy if exists performance_daily_models_read on public.performance_daily_models;
create policy performance_daily_models_read on public.performance_daily_models for select to authenticated
  using ((select public.parley_is_admin()));
drop policy if exists performance_daily_models_service on public.performance_daily_models;
create policy performance_daily_models_service on public.performance_daily_models
  for all to service_role using (true) with check (true);

create table if not exists public.performance_daily (
  day date not null, user_id text not null, provider text not null,
  model text not null, service_type text not null, is_demo boolean not null default false,
  fallbacks bigint not null default 0, rt_00 bigint not null default 0, rt_01 bigint not null default 0,
  rt_02 bigint not null default 0, rt_03 bigint not null default 0, rt_04 bigint not null default 0,
  rt_05 bigint not null default 0, rt_06 bigint not null default 0, rt_07 bigint not null default 0,
  rt_08 bigint not null default 0, rt_09 bigint not null default 0, rt_10 bigint not null default 0,
  rt_11 bigint not null default 0, rt_12 bigint not null default 0, rt_13 bigint not null default 0,
  rt_14 bigint not null default 0, rt_15 bigint not null default 0, rt_16 bigint not null default 0,
  ttft_00 bigint not null default 0, ttft_01 bigint not null default 0, ttft_02 bigint not null default 0,
  ttft_03 bigint not null default 0, ttft_04 bigint not null default 0, ttft_05 bigint not null default 0,
  ttft_06 bigint not null default 0, ttft_07 bigint not null default 0, ttft_08 bigint not null default 0,
  ttft_09 bigint not null default 0, ttft_10 bigint not null default 0, ttft_11 bigint not null default 0,
  ttft_12 bigint not null default 0, ttft_13 bigint not null default 0, ttft_14 bigint not null default 0,
  ttft_15 bigint not null default 0, ttft_16 bigint not null default 0,
  primary key (day, user_id, provider, model, service_type, is_demo)
);
alter table public.performance_daily enable row level security;
revoke all on table public.performance_daily from public, anon, authenticated;
grant select on table public.performance_daily to authenticated;
grant select, insert, update, delete on table public.performance_daily to service_role;
drop policy if exists performance_daily_read on public.performance_daily;
create policy performance_daily_read on public.performance_daily for select to authenticated
  using (user_id = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
drop policy if exists performance_daily_service on public.performance_daily;
create policy performance_daily_service on public.performance_daily
  for all to service_role using (true) with check (true);
create table if not exists public.usage_daily_models (
  day date not null, provider text not null, model text not null,
  service_type text not null, is_demo boolean not null default false, calls bigint not null default 0,
  failures bigint not null default 0, input_tokens bigint not null default 0, output_tokens bigint not null default 0,
  total_tokens bigint not null default 0, cost numeric not null default 0, unpriced_calls bigint not null default 0,
  primary key (day, provider, model, service_type, is_demo)
);
alter table public.usage_daily_models enable row level security;
revoke all on table public.usage_daily_models from public, anon, authenticated;
grant select on table public.usage_daily_models to authenticated;
grant select, insert, update, delete on table public.usage_daily_models to service_role;
drop policy if exists usage_daily_models_read on public.usage_daily_models;
create policy usage_daily_models_read on public.usage_daily_models for select to authenticated
  using ((select public.parley_is_admin()));
drop policy if exists usage_daily_models_service on public.usage_daily_models;
create policy usage_daily_models_service on public.usage_daily_models
  for all to service_role using (true) with check (true);

create table if not exists public.usage_daily_users (
  day date not null, user_id text not null, is_demo boolean not null default false,
  calls bigint not null default 0, failures bigint not null default 0, input_tokens bigint not null default 0,
  output_tokens bigint not null default 0, total_tokens bigint not null default 0, cost numeric not null default 0,
  unpriced_calls bigint not null default 0,
  primary key (day, user_id, is_demo)
);
alter table public.usage_daily_users enable row level security;
revoke all on table public.usage_daily_users from public, anon, authenticated;
grant select on table public.usage_daily_users to authenticated;
grant select, insert, update, delete on table public.usage_daily_users to service_role;
drop policy if exists usage_daily_users_read on public.usage_daily_users;
create policy usage_daily_users_read on public.usage_daily_users for select to authenticated
  using (user_id = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
drop policy if exists usage_daily_users_service on public.usage_daily_users;
create policy usage_daily_users_service on public.usage_daily_users
  for all to service_role using (true) with check (true);

create table if not exists public.usage_monthly (
  month date not null, user_id text not null, provider text not null,
  model text not null, service_type text not null, is_demo boolean not null default false,
  calls bigint not null default 0, failures bigint not null default 0, input_tokens bigint not null default 0,
  output_tokens bigint not null default 0, total_tokens bigint not null default 0, cost numeric not null default 0,
  unpriced_calls bigint not null default 0,
  primary key (month, user_id, provider, model, service_type, is_demo)
);
alter table public.usage_monthly enable row level security;
revoke all on table public.usage_monthly from public, anon, authenticated;
grant select on table public.usage_monthly to authenticated;
grant select, insert, update, delete on table public.usage_monthly to service_role;
drop policy if exists usage_monthly_read on public.usage_monthly;
create policy usage_monthly_read on public.usage_monthly for select to authenticated
  using (user_id = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
drop policy if exists usage_monthly_service on public.usage_monthly;
create policy usage_monthly_service on public.usage_monthly
  for all to service_role using (true) with check (true);

create index if not exists performance_daily_user_day_idx on public.performance_daily (user_id, day);
create index if not exists usage_monthly_user_idx on public.usage_monthly (user_id, month);

-- Fold a set of request_logs rows into every console rollup (the trigger, and the backfill).
create or replace function public.parley_fold_rollups(p_rows public.request_logs[]) returns void
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
  insert into public.performance_daily as t (
    day, user_id, provider, model, service_type, is_demo,
    fallbacks, rt_00, rt_01, rt_02, rt_03, rt_04,
    rt_05, rt_06, rt_07, rt_08, rt_09, rt_10,
    rt_11, rt_12, rt_13, rt_14, rt_15, rt_16,
    ttft_00, ttft_01, ttft_02, ttft_03, ttft_04, ttft_05,
    ttft_06, ttft_07, ttft_08, ttft_09, ttft_10, ttft_11,
    ttft_12, ttft_13, ttft_14, ttft_15, ttft_16)
  select (created_at at time zone 'UTC')::date, user_id, provider, model, service_type, is_demo,
         count(*) filter (where fallback_of is not null), count(*) filter (where rb = 0),
         count(*) filter (where rb = 1), count(*) filter (where rb = 2),
         count(*) filter (where rb = 3), count(*) filter (where rb = 4),
         count(*) filter (where rb = 5), count(*) filter (where rb = 6),
         count(*) filter (where rb = 7), count(*) filter (where rb = 8),
         count(*) filter (where rb = 9), count(*) filter (where rb = 10),
         count(*) filter (where rb = 11), count(*) filter (where rb = 12),
         count(*) filter (where rb = 13), count(*) filter (where rb = 14),
         count(*) filter (where rb = 15), count(*) filter (where rb = 16),
         count(*) filter (where tb = 0), count(*) filter (where tb = 1),
         count(*) filter (where tb = 2), count(*) filter (where tb = 3),
         count(*) filter (where tb = 4), count(*) filter (where tb = 5),
         count(*) filter (where tb = 6), count(*) filter (where tb = 7),
         count(*) filter (where tb = 8), count(*) filter (where tb = 9),
         count(*) filter (where tb = 10), count(*) filter (where tb = 11),
         count(*) filter (where tb = 12), count(*) filter (where tb = 13),
         count(*) filter (where tb = 14), count(*) filter (where tb = 15),
         count(*) filter (where tb = 16)
  from (select r.*, width_bucket(r.response_time_ms, '{50,100,200,300,500,750,1000,1500,2000,3000,5000,7500,10000,15000,30000,60000}'::double precision[]) as rb,
               width_bucket(r.ttft_ms, '{50,100,200,300,500,750,1000,1500,2000,3000,5000,7500,10000,15000,30000,60000}'::double precision[]) as tb from unnest(p_rows) r) as new_rows
  group by 1, 2, 3, 4, 5, 6
  order by 1, 2, 3, 4, 5, 6
  on conflict (day, user_id, provider, model, service_type, is_demo) do update set
    fallbacks = t.fallbacks + excluded.fallbacks, rt_00 = t.rt_00 + excluded.rt_00, rt_01 = t.rt_01 + excluded.rt_01,
    rt_02 = t.rt_02 + excluded.rt_02, rt_03 = t.rt_03 + excluded.rt_03, rt_04 = t.rt_04 + excluded.rt_04,
    rt_05 = t.rt_05 + excluded.rt_05, rt_06 = t.rt_06 + excluded.rt_06, rt_07 = t.rt_07 + excluded.rt_07,
    rt_08 = t.rt_08 + excluded.rt_08, rt_09 = t.rt_09 + excluded.rt_09, rt_10 = t.rt_10 + excluded.rt_10,
    rt_11 = t.rt_11 + excluded.rt_11, rt_12 = t.rt_12 + excluded.rt_12, rt_13 = t.rt_13 + excluded.rt_13,
    rt_14 = t.rt_14 + excluded.rt_14, rt_15 = t.rt_15 + excluded.rt_15, rt_16 = t.rt_16 + excluded.rt_16,
    ttft_00 = t.ttft_00 + excluded.ttft_00, ttft_01 = t.ttft_01 + excluded.ttft_01, ttft_02 = t.ttft_02 + excluded.ttft_02,
    ttft_03 = t.ttft_03 + excluded.ttft_03, ttft_04 = t.ttft_04 + excluded.ttft_04, ttft_05 = t.ttft_05 + excluded.ttft_05,
    ttft_06 = t.ttft_06 + excluded.ttft_06, ttft_07 = t.ttft_07 + excluded.ttft_07, ttft_08 = t.ttft_08 + excluded.ttft_08,
    ttft_09 = t.ttft_09 + excluded.ttft_09, ttft_10 = t.ttft_10 + excluded.ttft_10, ttft_11 = t.ttft_11 + excluded.ttft_11,
    ttft_12 = t.ttft_12 + excluded.ttft_12, ttft_13 = t.ttft_13 + excluded.ttft_13, ttft_14 = t.ttft_14 + excluded.ttft_14,
    ttft_15 = t.ttft_15 + excluded.ttft_15, ttft_16 = t.ttft_16 + excluded.ttft_16;
  insert into public.performance_daily_models as t (
    day, provider, model, service_type, is_demo, fallbacks,
    rt_00, rt_01, rt_02, rt_03, rt_04, rt_05,
    rt_06, rt_07, rt_08, rt_09, rt_10, rt_11,
    rt_12, rt_13, rt_14, rt_15, rt_16, ttft_00,
    ttft_01, ttft_02, ttft_03, ttft_04, ttft_05, ttft_06,
    ttft_07, ttft_08, ttft_09, ttft_10, ttft_11, ttft_12,
    ttft_13, ttft_14, ttft_15, ttft_16)
  select (created_at at time zone 'UTC')::date, provider, model, service_type, is_demo,
         count(*) filter (where fallback_of is not null), count(*) filter (where rb = 0),
         count(*) filter (where rb = 1), count(*) filter (where rb = 2),
         count(*) filter (where rb = 3), count(*) filter (where rb = 4),
         count(*) filter (where rb = 5), count(*) filter (where rb = 6),
         count(*) filter (where rb = 7), count(*) filter (where rb = 8),
         count(*) filter (where rb = 9), count(*) filter (where rb = 10),
         count(*) filter (where rb = 11), count(*) filter (where rb = 12),
         count(*) filter (where rb = 13), count(*) filter (where rb = 14),
         count(*) filter (where rb = 15), count(*) filter (where rb = 16),
         count(*) filter (where tb = 0), count(*) filter (where tb = 1),
         count(*) filter (where tb = 2), count(*) filter (where tb = 3),
         count(*) filter (where tb = 4), count(*) filter (where tb = 5),
         count(*) filter (where tb = 6), count(*) filter (where tb = 7),
         count(*) filter (where tb = 8), count(*) filter (where tb = 9),
         count(*) filter (where tb = 10), count(*) filter (where tb = 11),
         count(*) filter (where tb = 12), count(*) filter (where tb = 13),
         count(*) filter (where tb = 14), count(*) filter (where tb = 15),
         count(*) filter (where tb = 16)
  from (select r.*, width_bucket(r.response_time_ms, '{50,100,200,300,500,750,1000,1500,2000,3000,5000,7500,10000,15000,30000,60000}'::double precision[]) as rb,
               width_bucket(r.ttft_ms, '{50,100,200,300,500,750,1000,1500,2000,3000,5000,7500,10000,15000,30000,60000}'::double precision[]) as tb from unnest(p_rows) r) as new_rows
  group by 1, 2, 3, 4, 5
  order by 1, 2, 3, 4, 5
  on conflict (day, provider, model, service_type, is_demo) do update set
    fallbacks = t.fallbacks + excluded.fallbacks, rt_00 = t.rt_00 + excluded.rt_00, rt_01 = t.rt_01 + excluded.rt_01,
    rt_02 = t.rt_02 + excluded.rt_02, rt_03 = t.rt_03 + excluded.rt_03, rt_04 = t.rt_04 + excluded.rt_04,
    rt_05 = t.rt_05 + excluded.rt_05, rt_06 = t.rt_06 + excluded.rt_06, rt_07 = t.rt_07 + excluded.rt_07,
    rt_08 = t.rt_08 + excluded.rt_08, rt_09 = t.rt_09 + excluded.rt_09, rt_10 = t.rt_10 + excluded.rt_10,
    rt_11 = t.rt_11 + excluded.rt_11, rt_12 = t.rt_12 + excluded.rt_12, rt_13 = t.rt_13 + excluded.rt_13,
    rt_14 = t.rt_14 + excluded.rt_14, rt_15 = t.rt_15 + excluded.rt_15, rt_16 = t.rt_16 + excluded.rt_16,
    ttft_00 = t.ttft_00 + excluded.ttft_00, ttft_01 = t.ttft_01 + excluded.ttft_01, ttft_02 = t.ttft_02 + excluded.ttft_02,
    ttft_03 = t.ttft_03 + excluded.ttft_03, ttft_04 = t.ttft_04 + excluded.ttft_04, ttft_05 = t.ttft_05 + excluded.ttft_05,
    ttft_06 = t.ttft_06 + excluded.ttft_06, ttft_07 = t.ttft_07 + excluded.ttft_07, ttft_08 = t.ttft_08 + excluded.ttft_08,
    ttft_09 = t.ttft_09 + excluded.ttft_09, ttft_10 = t.ttft_10 + excluded.ttft_10, ttft_11 = t.ttft_11 + excluded.ttft_11,
    ttft_12 = t.ttft_12 + excluded.ttft_12, ttft_13 = t.ttft_13 + excluded.ttft_13, ttft_14 = t.ttft_14 + excluded.ttft_14,
    ttft_15 = t.ttft_15 + excluded.ttft_15, ttft_16 = t.ttft_16 + excluded.ttft_16;
  insert into public.usage_daily_models as t (
    day, provider, model, service_type, is_demo, calls,
    failures, input_tokens, output_tokens, total_tokens, cost, unpriced_calls)
  select (created_at at time zone 'UTC')::date, provider, model, service_type, is_demo,
         count(*), count(*) filter (where status = 'failure'),
         coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
         coalesce(sum(total_tokens), 0), coalesce(sum(total_cost), 0),
         count(*) filter (where total_cost is null)
  from unnest(p_rows) as new_rows
  group by 1, 2, 3, 4, 5
  order by 1, 2, 3, 4, 5
  on conflict (day, provider, model, service_type, is_demo) do update set
    calls = t.calls + excluded.calls, failures = t.failures + excluded.failures, input_tokens = t.input_tokens + excluded.input_tokens,
    output_tokens = t.output_tokens + excluded.output_tokens, total_tokens = t.total_tokens + excluded.total_tokens, cost = t.cost + excluded.cost,
    unpriced_calls = t.unpriced_calls + excluded.unpriced_calls;
  insert into public.usage_daily_users as t (
    day, user_id, is_demo, calls, failures, input_tokens,
    output_tokens, total_tokens, cost, unpriced_calls)
  select (created_at at time zone 'UTC')::date, user_id, is_demo,
         count(*), count(*) filter (where status = 'failure'),
         coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
         coalesce(sum(total_tokens), 0), coalesce(sum(total_cost), 0),
         count(*) filter (where total_cost is null)
  from unnest(p_rows) as new_rows
  group by 1, 2, 3
  order by 1, 2, 3
  on conflict (day, user_id, is_demo) do update set
    calls = t.calls + excluded.calls, failures = t.failures + excluded.failures, input_tokens = t.input_tokens + excluded.input_tokens,
    output_tokens = t.output_tokens + excluded.output_tokens, total_tokens = t.total_tokens + excluded.total_tokens, cost = t.cost + excluded.cost,
    unpriced_calls = t.unpriced_calls + excluded.unpriced_calls;
  insert into public.usage_monthly as t (
    month, user_id, provider, model, service_type, is_demo,
    calls, failures, input_tokens, output_tokens, total_tokens, cost,
    unpriced_calls)
  select date_trunc('month', created_at at time zone 'UTC')::date, user_id, provider, model, service_type, is_demo,
         count(*), count(*) filter (where status = 'failure'),
         coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
         coalesce(sum(total_tokens), 0), coalesce(sum(total_cost), 0),
         count(*) filter (where total_cost is null)
  from unnest(p_rows) as new_rows
  group by 1, 2, 3, 4, 5, 6
  order by 1, 2, 3, 4, 5, 6
  on conflict (month, user_id, provider, model, service_type, is_demo) do update set
    calls = t.calls + excluded.calls, failures = t.failures + excluded.failures, input_tokens = t.input_tokens + excluded.input_tokens,
    output_tokens = t.output_tokens + excluded.output_tokens, total_tokens = t.total_tokens + excluded.total_tokens, cost = t.cost + excluded.cost,
    unpriced_calls = t.unpriced_calls + excluded.unpriced_calls;
end
$$;

create or replace function public.parley_rollups_trigger() returns trigger
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
  perform public.parley_fold_rollups(array(select n::public.request_logs from new_rows n));
  return null;
end
$$;

drop trigger if exists request_logs_console_rollups on public.request_logs;
create trigger request_logs_console_rollups after insert on public.request_logs
  referencing new table as new_rows
  for each statement execute function public.parley_rollups_trigger();

-- Fill them from what is already stored (nothing, on a fresh database).
truncate public.performance_daily_models, public.performance_daily, public.usage_daily_models, public.usage_daily_users, public.usage_monthly;
insert into public.performance_daily as t (
    day, user_id, provider, model, service_type, is_demo,
    fallbacks, rt_00, rt_01, rt_02, rt_03, rt_04,
    rt_05, rt_06, rt_07, rt_08, rt_09, rt_10,
    rt_11, rt_12, rt_13, rt_14, rt_15, rt_16,
    ttft_00, ttft_01, ttft_02, ttft_03, ttft_04, ttft_05,
    ttft_06, ttft_07, ttft_08, ttft_09, ttft_10, ttft_11,
    ttft_12, ttft_13, ttft_14, ttft_15, ttft_16)
  select (created_at at time zone 'UTC')::date, user_id, provider, model, service_type, is_demo,
         count(*) filter (where fallback_of is not null), count(*) filter (where rb = 0),
         count(*) filter (where rb = 1), count(*) filter (where rb = 2),
         count(*) filter (where rb = 3), count(*) filter (where rb = 4),
         count(*) filter (where rb = 5), count(*) filter (where rb = 6),
         count(*) filter (where rb = 7), count(*) filter (where rb = 8),
         count(*) filter (where rb = 9), count(*) filter (where rb = 10),
         count(*) filter (where rb = 11), count(*) filter (where rb = 12),
         count(*) filter (where rb = 13), count(*) filter (where rb = 14),
         count(*) filter (where rb = 15), count(*) filter (where rb = 16),
         count(*) filter (where tb = 0), count(*) filter (where tb = 1),
         count(*) filter (where tb = 2), count(*) filter (where tb = 3),
         count(*) filter (where tb = 4), count(*) filter (where tb = 5),
         count(*) filter (where tb = 6), count(*) filter (where tb = 7),
         count(*) filter (where tb = 8), count(*) filter (where tb = 9),
         count(*) filter (where tb = 10), count(*) filter (where tb = 11),
         count(*) filter (where tb = 12), count(*) filter (where tb = 13),
         count(*) filter (where tb = 14), count(*) filter (where tb = 15),
         count(*) filter (where tb = 16)
  from (select r.*, width_bucket(r.response_time_ms, '{50,100,200,300,500,750,1000,1500,2000,3000,5000,7500,10000,15000,30000,60000}'::double precision[]) as rb,
               width_bucket(r.ttft_ms, '{50,100,200,300,500,750,1000,1500,2000,3000,5000,7500,10000,15000,30000,60000}'::double precision[]) as tb from public.request_logs r) as new_rows
  group by 1, 2, 3, 4, 5, 6
  order by 1, 2, 3, 4, 5, 6
  on conflict (day, user_id, provider, model, service_type, is_demo) do update set
    fallbacks = t.fallbacks + excluded.fallbacks, rt_00 = t.rt_00 + excluded.rt_00, rt_01 = t.rt_01 + excluded.rt_01,
    rt_02 = t.rt_02 + excluded.rt_02, rt_03 = t.rt_03 + excluded.rt_03, rt_04 = t.rt_04 + excluded.rt_04,
    rt_05 = t.rt_05 + excluded.rt_05, rt_06 = t.rt_06 + excluded.rt_06, rt_07 = t.rt_07 + excluded.rt_07,
    rt_08 = t.rt_08 + excluded.rt_08, rt_09 = t.rt_09 + excluded.rt_09, rt_10 = t.rt_10 + excluded.rt_10,
    rt_11 = t.rt_11 + excluded.rt_11, rt_12 = t.rt_12 + excluded.rt_12, rt_13 = t.rt_13 + excluded.rt_13,
    rt_14 = t.rt_14 + excluded.rt_14, rt_15 = t.rt_15 + excluded.rt_15, rt_16 = t.rt_16 + excluded.rt_16,
    ttft_00 = t.ttft_00 + excluded.ttft_00, ttft_01 = t.ttft_01 + excluded.ttft_01, ttft_02 = t.ttft_02 + excluded.ttft_02,
    ttft_03 = t.ttft_03 + excluded.ttft_03, ttft_04 = t.ttft_04 + excluded.ttft_04, ttft_05 = t.ttft_05 + excluded.ttft_05,
    ttft_06 = t.ttft_06 + excluded.ttft_06, ttft_07 = t.ttft_07 + excluded.ttft_07, ttft_08 = t.ttft_08 + excluded.ttft_08,
    ttft_09 = t.ttft_09 + excluded.ttft_09, ttft_10 = t.ttft_10 + excluded.ttft_10, ttft_11 = t.ttft_11 + excluded.ttft_11,
    ttft_12 = t.ttft_12 + excluded.ttft_12, ttft_13 = t.ttft_13 + excluded.ttft_13, ttft_14 = t.ttft_14 + excluded.ttft_14,
    ttft_15 = t.ttft_15 + excluded.ttft_15, ttft_16 = t.ttft_16 + excluded.ttft_16;
insert into public.performance_daily_models
select day, provider, model, service_type, is_demo,
       sum(fallbacks), sum(rt_00), sum(rt_01), sum(rt_02), sum(rt_03), sum(rt_04),
       sum(rt_05), sum(rt_06), sum(rt_07), sum(rt_08), sum(rt_09), sum(rt_10),
       sum(rt_11), sum(rt_12), sum(rt_13), sum(rt_14), sum(rt_15), sum(rt_16),
       sum(ttft_00), sum(ttft_01), sum(ttft_02), sum(ttft_03), sum(ttft_04), sum(ttft_05),
       sum(ttft_06), sum(ttft_07), sum(ttft_08), sum(ttft_09), sum(ttft_10), sum(ttft_11),
       sum(ttft_12), sum(ttft_13), sum(ttft_14), sum(ttft_15), sum(ttft_16)
from public.performance_daily group by 1, 2, 3, 4, 5;
insert into public.usage_daily_models
select day, provider, model, service_type, is_demo,
       sum(calls), sum(failures), sum(input_tokens), sum(output_tokens), sum(total_tokens), sum(cost),
       sum(unpriced_calls)
from public.usage_daily group by 1, 2, 3, 4, 5;
insert into public.usage_daily_users
select day, user_id, is_demo,
       sum(calls), sum(failures), sum(input_tokens), sum(output_tokens), sum(total_tokens), sum(cost),
       sum(unpriced_calls)
from public.usage_daily group by 1, 2, 3;
insert into public.usage_monthly
select date_trunc('month', day)::date, user_id, provider, model, service_type, is_demo,
       sum(calls), sum(failures), sum(input_tokens), sum(output_tokens), sum(total_tokens), sum(cost),
       sum(unpriced_calls)
from public.usage_daily group by 1, 2, 3, 4, 5, 6;


-- The statement a console read runs: p_query = {table, by, since, until, users, providers,
-- models, services, demo}. The table must be a console rollup; grouping names come from a
-- fixed list; values are bound by the caller as $1 = p_query.
create or replace function public.parley_console_sql(p_query jsonb, p_measures text)
returns text
language plpgsql immutable
set search_path = public, pg_temp
as $$
declare
  tbl text := p_query ->> 'table';
  period text;
  keys text[] := '{}';
  conds text[] := array['true'];
  dim text;
  filter record;
  n int;
begin
  if tbl is null or tbl not in ('performance_daily_models', 'performance_daily', 'usage_daily_models', 'usage_daily_users', 'usage_monthly', 'usage_daily') then
    raise exception 'no console rollup is called %', coalesce(tbl, 'nothing') using errcode = '22023';
  end if;
  period := case when tbl in ('usage_monthly') then 'month' else 'day' end;
  for dim in select jsonb_array_elements_text(coalesce(p_query -> 'by', '[]'::jsonb)) loop
    keys := keys || case dim
      when 'day' then 'day as "day"'
      when 'month' then format('date_trunc(''month'', %I)::date as "month"', period)
      when 'user' then 'user_id as "user"'
      when 'provider' then 'provider as "provider"'
      when 'model' then 'model as "model"'
      when 'service' then 'service_type as "service"'
    end;
    if keys[array_length(keys, 1)] is null then
      raise exception 'rollups cannot be grouped by %', dim using errcode = '22023';
    end if;
  end loop;
  if p_query ->> 'since' is not null then
    conds := conds || format('%I >= ($1 ->> ''since'')::date', period);
  end if;
  if p_query ->> 'until' is not null then
    conds := conds || format('%I <= ($1 ->> ''until'')::date', period);
  end if;
  for filter in select * from (values ('users', 'user_id'), ('providers', 'provider'),
                                      ('models', 'model'), ('services', 'service_type')) f(name, col) loop
    if jsonb_typeof(p_query -> filter.name) = 'array' then
      conds := conds || format('%I = any(array(select jsonb_array_elements_text($1 -> %L)))',
                               filter.col, filter.name);
    end if;
  end loop;
  if jsonb_typeof(p_query -> 'demo') = 'boolean' then
    conds := conds || 'is_demo = ($1 ->> ''demo'')::boolean'::text;
  end if;
  n := coalesce(array_length(keys, 1), 0);
  return format('select coalesce(json_agg(g), ''[]''::json) from (select %s from public.%I where %s %s) g',
                array_to_string(keys || p_measures, ', '), tbl, array_to_string(conds, ' and '),
                case when n = 0 then 'having count(*) > 0'
                     else format('group by %1$s order by %1$s',
                                 (select string_agg(i::text, ', ') from generate_series(1, n) i)) end);
end
$$;

-- A usage rollup sliced by p_query: per group calls, failures, tokens, cost, unpriced and
-- demo calls, as json (cheaper to build than jsonb for thousands of rows). Runs under the
-- caller's row-level security (a user: their own rows).
create or replace function public.parley_console_usage(p_query jsonb) returns json
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
  result json;
begin
  execute public.parley_console_sql(p_query,
    'sum(calls) as calls, sum(failures) as failures, sum(input_tokens) as input_tokens, '
    'sum(output_tokens) as output_tokens, sum(total_tokens) as total_tokens, sum(cost) as cost, '
    'sum(unpriced_calls) as unpriced_calls, '
    'coalesce(sum(calls) filter (where is_demo), 0) as demo_calls')
    into result using p_query;
  return result;
end
$$;

-- A performance rollup sliced by p_query: per group fallbacks and the rt / ttft histograms.
create or replace function public.parley_console_performance(p_query jsonb) returns json
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
  result json;
begin
  execute public.parley_console_sql(p_query,
    'sum(fallbacks) as fallbacks, json_build_array('
    'sum(rt_00), sum(rt_01), sum(rt_02), sum(rt_03), sum(rt_04), sum(rt_05), sum(rt_06), sum(rt_07), sum(rt_08), sum(rt_09), sum(rt_10), sum(rt_11), sum(rt_12), sum(rt_13), sum(rt_14), sum(rt_15), sum(rt_16)) as rt, json_build_array('
    'sum(ttft_00), sum(ttft_01), sum(ttft_02), sum(ttft_03), sum(ttft_04), sum(ttft_05), sum(ttft_06), sum(ttft_07), sum(ttft_08), sum(ttft_09), sum(ttft_10), sum(ttft_11), sum(ttft_12), sum(ttft_13), sum(ttft_14), sum(ttft_15), sum(ttft_16)) as ttft')
    into result using p_query;
  return result;
end
$$;

revoke execute on function public.parley_fold_rollups(public.request_logs[]) from public, anon, authenticated;
grant execute on function public.parley_fold_rollups(public.request_logs[]) to service_role;
revoke execute on function public.parley_console_sql(jsonb, text) from public, anon;
grant execute on function public.parley_console_sql(jsonb, text) to authenticated, service_role;
revoke execute on function public.parley_console_usage(jsonb) from public, anon;
grant execute on function public.parley_console_usage(jsonb) to authenticated, service_role;
revoke execute on function public.parley_console_performance(jsonb) from public, anon;
grant execute on function public.parley_console_performance(jsonb) to authenticated, service_role;
