-- Parley: the cost console. performance_daily (fallbacks and latency histograms on
-- usage_daily's key, kept current by a statement trigger on request_logs inserts) and the two
-- reads the console makes, from the rollups only: parley_console_usage, parley_console_performance.
-- Histogram bucket i counts values v with bounds[i-1] <= v < bounds[i] (width_bucket); the
-- bounds are core/store/console.py's LATENCY_BOUNDS_MS.

create table if not exists public.performance_daily (
  day date not null,                              -- UTC day of created_at
  user_id text not null,
  provider text not null,
  model text not null,
  service_type text not null,
  is_demo boolean not null default false,
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
drop policy if exists performance_daily_read_own on public.performance_daily;
create policy performance_daily_read_own on public.performance_daily for select to authenticated
  using (user_id = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
drop policy if exists performance_daily_service on public.performance_daily;
create policy performance_daily_service on public.performance_daily
  for all to service_role using (true) with check (true);

-- Fold a set of request_logs rows into performance_daily (the trigger below and the backfill).
create or replace function public.parley_fold_performance(p_rows public.request_logs[]) returns void
language sql volatile
set search_path = public, pg_temp
as $$
  insert into public.performance_daily as p (
    day, user_id, provider, model, service_type, is_demo, fallbacks,
    rt_00, rt_01, rt_02, rt_03, rt_04, rt_05, rt_06, rt_07, rt_08,
    rt_09, rt_10, rt_11, rt_12, rt_13, rt_14, rt_15, rt_16, ttft_00,
    ttft_01, ttft_02, ttft_03, ttft_04, ttft_05, ttft_06, ttft_07, ttft_08, ttft_09,
    ttft_10, ttft_11, ttft_12, ttft_13, ttft_14, ttft_15, ttft_16)
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
               width_bucket(r.ttft_ms, '{50,100,200,300,500,750,1000,1500,2000,3000,5000,7500,10000,15000,30000,60000}'::double precision[]) as tb
        from unnest(p_rows) as r) as rows
  group by 1, 2, 3, 4, 5, 6
  order by 1, 2, 3, 4, 5, 6
  on conflict (day, user_id, provider, model, service_type, is_demo) do update set
      fallbacks = p.fallbacks + excluded.fallbacks, rt_00 = p.rt_00 + excluded.rt_00, rt_01 = p.rt_01 + excluded.rt_01,
      rt_02 = p.rt_02 + excluded.rt_02, rt_03 = p.rt_03 + excluded.rt_03, rt_04 = p.rt_04 + excluded.rt_04,
      rt_05 = p.rt_05 + excluded.rt_05, rt_06 = p.rt_06 + excluded.rt_06, rt_07 = p.rt_07 + excluded.rt_07,
      rt_08 = p.rt_08 + excluded.rt_08, rt_09 = p.rt_09 + excluded.rt_09, rt_10 = p.rt_10 + excluded.rt_10,
      rt_11 = p.rt_11 + excluded.rt_11, rt_12 = p.rt_12 + excluded.rt_12, rt_13 = p.rt_13 + excluded.rt_13,
      rt_14 = p.rt_14 + excluded.rt_14, rt_15 = p.rt_15 + excluded.rt_15, rt_16 = p.rt_16 + excluded.rt_16,
      ttft_00 = p.ttft_00 + excluded.ttft_00, ttft_01 = p.ttft_01 + excluded.ttft_01, ttft_02 = p.ttft_02 + excluded.ttft_02,
      ttft_03 = p.ttft_03 + excluded.ttft_03, ttft_04 = p.ttft_04 + excluded.ttft_04, ttft_05 = p.ttft_05 + excluded.ttft_05,
      ttft_06 = p.ttft_06 + excluded.ttft_06, ttft_07 = p.ttft_07 + excluded.ttft_07, ttft_08 = p.ttft_08 + excluded.ttft_08,
      ttft_09 = p.ttft_09 + excluded.ttft_09, ttft_10 = p.ttft_10 + excluded.ttft_10, ttft_11 = p.ttft_11 + excluded.ttft_11,
      ttft_12 = p.ttft_12 + excluded.ttft_12, ttft_13 = p.ttft_13 + excluded.ttft_13, ttft_14 = p.ttft_14 + excluded.ttft_14,
      ttft_15 = p.ttft_15 + excluded.ttft_15, ttft_16 = p.ttft_16 + excluded.ttft_16
$$;

create or replace function public.parley_performance_trigger() returns trigger
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
  perform public.parley_fold_performance(array(select n::public.request_logs from new_rows n));
  return null;
end
$$;

drop trigger if exists request_logs_performance on public.request_logs;
create trigger request_logs_performance after insert on public.request_logs
  referencing new table as new_rows
  for each statement execute function public.parley_performance_trigger();

-- Backfill from the logs already there (a no-op on a fresh database).
truncate public.performance_daily;
select public.parley_fold_performance(array(select r from public.request_logs r));

-- The WHERE clause and grouping of a console query (p_query: by, since, until, users,
-- providers, models, services, demo). Names come from fixed lists; values are bound by the
-- caller as $1 = p_query.
create or replace function public.parley_console_sql(p_query jsonb, p_measures text, p_table text)
returns text
language plpgsql immutable
set search_path = public, pg_temp
as $$
declare
  keys text[] := '{}';
  conds text[] := array['true'];
  dim text;
  n int;
begin
  for dim in select jsonb_array_elements_text(coalesce(p_query -> 'by', '[]'::jsonb)) loop
    keys := keys || case dim
      when 'day' then 'day as "day"'
      when 'month' then 'date_trunc(''month'', day)::date as "month"'
      when 'user' then 'user_id as "user"'
      when 'provider' then 'provider as "provider"'
      when 'model' then 'model as "model"'
      when 'service' then 'service_type as "service"'
    end;
    if keys[array_length(keys, 1)] is null then
      raise exception 'rollups cannot be grouped by %', dim using errcode = '22023';
    end if;
  end loop;
  if p_query ->> 'since' is not null then conds := conds || 'day >= ($1 ->> ''since'')::date'::text; end if;
  if p_query ->> 'until' is not null then conds := conds || 'day <= ($1 ->> ''until'')::date'::text; end if;
  if jsonb_typeof(p_query -> 'users') = 'array' then
    conds := conds || 'user_id = any(array(select jsonb_array_elements_text($1 -> ''users'')))'::text;
  end if;
  if jsonb_typeof(p_query -> 'providers') = 'array' then
    conds := conds || 'provider = any(array(select jsonb_array_elements_text($1 -> ''providers'')))'::text;
  end if;
  if jsonb_typeof(p_query -> 'models') = 'array' then
    conds := conds || 'model = any(array(select jsonb_array_elements_text($1 -> ''models'')))'::text;
  end if;
  if jsonb_typeof(p_query -> 'services') = 'array' then
    conds := conds || 'service_type = any(array(select jsonb_array_elements_text($1 -> ''services'')))'::text;
  end if;
  if jsonb_typeof(p_query -> 'demo') = 'boolean' then
    conds := conds || 'is_demo = ($1 ->> ''demo'')::boolean'::text;
  end if;
  n := coalesce(array_length(keys, 1), 0);
  return format('select coalesce(jsonb_agg(to_jsonb(g)), ''[]''::jsonb) from (select %s from public.%I where %s %s) g',
                array_to_string(keys || p_measures, ', '), p_table, array_to_string(conds, ' and '),
                case when n = 0 then 'having count(*) > 0'
                     else format('group by %1$s order by %1$s',
                                 (select string_agg(i::text, ', ') from generate_series(1, n) i)) end);
end
$$;

-- usage_daily sliced by p_query: per group calls, failures, tokens, cost, unpriced and demo
-- calls. Runs under the caller's row-level security (a user: their own rows).
create or replace function public.parley_console_usage(p_query jsonb) returns jsonb
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
  result jsonb;
begin
  execute public.parley_console_sql(p_query,
    'sum(calls) as calls, sum(failures) as failures, sum(input_tokens) as input_tokens, '
    'sum(output_tokens) as output_tokens, sum(total_tokens) as total_tokens, sum(cost) as cost, '
    'sum(unpriced_calls) as unpriced_calls, '
    'coalesce(sum(calls) filter (where is_demo), 0) as demo_calls', 'usage_daily')
    into result using p_query;
  return result;
end
$$;

-- performance_daily sliced by p_query: per group fallbacks and the rt / ttft histograms.
create or replace function public.parley_console_performance(p_query jsonb) returns jsonb
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
  result jsonb;
begin
  execute public.parley_console_sql(p_query,
    'sum(fallbacks) as fallbacks, jsonb_build_array('
    'sum(rt_00), sum(rt_01), sum(rt_02), sum(rt_03), sum(rt_04), sum(rt_05), sum(rt_06), sum(rt_07), sum(rt_08), sum(rt_09), sum(rt_10), sum(rt_11), sum(rt_12), sum(rt_13), sum(rt_14), sum(rt_15), sum(rt_16)) as rt, jsonb_build_array('
    'sum(ttft_00), sum(ttft_01), sum(ttft_02), sum(ttft_03), sum(ttft_04), sum(ttft_05), sum(ttft_06), sum(ttft_07), sum(ttft_08), sum(ttft_09), sum(ttft_10), sum(ttft_11), sum(ttft_12), sum(ttft_13), sum(ttft_14), sum(ttft_15), sum(ttft_16)) as ttft', 'performance_daily')
    into result using p_query;
  return result;
end
$$;

revoke execute on function public.parley_fold_performance(public.request_logs[]) from public, anon, authenticated;
grant execute on function public.parley_fold_performance(public.request_logs[]) to service_role;
revoke execute on function public.parley_console_sql(jsonb, text, text) from public, anon;
grant execute on function public.parley_console_sql(jsonb, text, text) to authenticated, service_role;
revoke execute on function public.parley_console_usage(jsonb) from public, anon;
grant execute on function public.parley_console_usage(jsonb) to authenticated, service_role;
revoke execute on function public.parley_console_performance(jsonb) from public, anon;
grant execute on function public.parley_console_performance(jsonb) to authenticated, service_role;
