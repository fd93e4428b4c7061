-- Parley: spend alerts (core/alerts.py). Each (kind, subject, period) is raised once; delivery
-- is retried until it succeeds, each attempt leased by bumping next_attempt_at so two workers
-- never send the same alert at once. Admins read them; only the service role writes.

create table if not exists public.alerts (
  id text primary key,
  kind text not null,
  subject text not null,
  period text not null,
  message text not null,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  delivered_at timestamptz,
  last_error text,
  unique (kind, subject, period)
);
create index if not exists alerts_pending_idx on public.alerts (next_attempt_at)
  where delivered_at is null;
alter table public.alerts enable row level security;
revoke all on table public.alerts from public, anon, authenticated;
grant select on table public.alerts to authenticated;
grant select, insert, update, delete on table public.alerts to service_role;
drop policy if exists alerts_read_admins on public.alerts;
create policy alerts_read_admins on public.alerts for select to authenticated
  using ((select public.parley_is_admin()));
drop policy if exists alerts_service on public.alerts;
create policy alerts_service on public.alerts for all to service_role using (true) with check (true);

-- Known spend per API key since p_since: {key_id: cost}.
create or replace function public.parley_key_spend(p_since timestamptz) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_object_agg(key_id, cost), '{}'::jsonb) from (
    select key_id, coalesce(sum(total_cost), 0) as cost from public.request_logs
    where key_id is not null and created_at >= p_since group by key_id) s
$$;

-- Raise an alert once: true if this call stored it, false if it was already raised.
create or replace function public.parley_raise_alert(p_alert jsonb) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
  added integer;
begin
  insert into public.alerts (id, kind, subject, period, message, details, created_at, next_attempt_at)
  select a.id, a.kind, a.subject, a.period, a.message, coalesce(a.details, '{}'::jsonb),
         coalesce(a.created_at, now()), coalesce(a.created_at, now())
  from jsonb_to_record(p_alert) as a(id text, kind text, subject text, period text, message text,
                                     details jsonb, created_at timestamptz)
  on conflict (kind, subject, period) do nothing;
  get diagnostics added = row_count;
  return added = 1;
end
$$;

-- Lease up to p_limit undelivered alerts due by now for p_lease_s seconds; returns them.
create or replace function public.parley_lease_alerts(p_limit integer, p_lease_s double precision)
returns jsonb
language sql volatile
set search_path = public, pg_temp
as $$
  with due as (
    select id from public.alerts
    where delivered_at is null and next_attempt_at <= now()
    order by next_attempt_at limit p_limit for update skip locked
  ), leased as (
    update public.alerts a set next_attempt_at = now() + make_interval(secs => p_lease_s),
                               attempts = a.attempts + 1
    from due where a.id = due.id
    returning a.id, a.kind, a.subject, a.period, a.message, a.details, a.attempts
  )
  select coalesce(jsonb_agg(to_jsonb(leased)), '[]'::jsonb) from leased
$$;

-- The outcome of one delivery attempt: delivered, or the error and when to try again.
create or replace function public.parley_alert_attempted(p_id text, p_error text,
                                                         p_retry_s double precision)
returns void
language sql volatile
set search_path = public, pg_temp
as $$
  update public.alerts set
    delivered_at = case when p_error is null then now() end,
    last_error = p_error,
    next_attempt_at = case when p_error is null then next_attempt_at
                           else now() + make_interval(secs => p_retry_s) end
  where id = p_id
$$;

-- The latest alerts, newest first (admins; the caller's RLS applies).
create or replace function public.parley_list_alerts(p_limit integer) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(to_jsonb(a) order by a.created_at desc), '[]'::jsonb)
  from (select * from public.alerts order by created_at desc limit p_limit) a
$$;

revoke execute on function public.parley_key_spend(timestamptz) from public, anon, authenticated;
grant execute on function public.parley_key_spend(timestamptz) to service_role;
revoke execute on function public.parley_raise_alert(jsonb) from public, anon, authenticated;
grant execute on function public.parley_raise_alert(jsonb) to service_role;
revoke execute on function public.parley_lease_alerts(integer, double precision) from public, anon, authenticated;
grant execute on function public.parley_lease_alerts(integer, double precision) to service_role;
revoke execute on function public.parley_alert_attempted(text, text, double precision) from public, anon, authenticated;
grant execute on function public.parley_alert_attempted(text, text, double precision) to service_role;
revoke execute on function public.parley_list_alerts(integer) from public, anon;
grant execute on function public.parley_list_alerts(integer) to authenticated, service_role;
