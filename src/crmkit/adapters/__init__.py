"""Adapters: implementations of the ports. Importing this package loads no database driver;
``crmkit.adapters.sqlalchemy`` does, when a host asks for it."""
