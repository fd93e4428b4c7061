-- Parley: who is asking. Roles as Supabase has them, the caller's user id, and admins.
--
-- User ids are text (an email or any id), not uuid, so Parley reads the JWT's `sub` claim
-- itself from the same setting Supabase's auth.uid()/auth.jwt() read (`request.jwt.claims`,
-- set by PostgREST per request, or by Parley's Postgres backend per transaction).
-- Admins: a row in parley_admins, or a JWT whose app_metadata.role is 'admin'
-- (app_metadata can only be set with the service role, so users cannot grant it themselves).

-- On Supabase these roles exist; on plain Postgres create them so the grants below apply.
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (select 1 from pg_roles where rolname = r) then
      execute format('create role %I nologin', r);
    end if;
    -- the connecting role must be able to `set role` to read as a user
    if not pg_has_role(current_user, r, 'member') then
      execute format('grant %I to %I', r, current_user);
    end if;
  end loop;
end
$$;

create or replace function public.parley_current_user_id() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
  )
$$;

create table if not exists public.parley_admins (
  user_id text primary key,
  created_at timestamptz not null default now()
);
alter table public.parley_admins enable row level security;
revoke all on table public.parley_admins from public, anon, authenticated;
grant select, insert, update, delete on table public.parley_admins to service_role;
drop policy if exists parley_admins_service on public.parley_admins;
create policy parley_admins_service on public.parley_admins
  for all to service_role using (true) with check (true);

-- security definer: users may ask whether they are admins without reading parley_admins
create or replace function public.parley_is_admin() returns boolean
language sql stable security definer
set search_path = public, pg_temp
as $$
  select coalesce(
      nullif(current_setting('request.jwt.claims', true), '')::jsonb
        -> 'app_metadata' ->> 'role' = 'admin', false)
    or exists (select 1 from public.parley_admins where user_id = public.parley_current_user_id())
$$;

revoke execute on function public.parley_current_user_id() from public, anon;
revoke execute on function public.parley_is_admin() from public, anon;
grant execute on function public.parley_current_user_id() to authenticated, service_role;
grant execute on function public.parley_is_admin() to authenticated, service_role;
