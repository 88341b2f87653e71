package policy

import (
	"fmt"
	"reflect"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// CEL type names of the two variables.
const (
	rowTypeName       = "coffer.Row"
	principalTypeName = "coffer.Principal"
)

// rowShape is a table schema as CEL sees it.
type rowShape struct {
	names  []string
	kinds  []kind
	sqlTyp []gmssql.Type
	fields map[string]*types.FieldType // lower-case column name
	byName map[string]int
}

func newRowShape(sch gmssql.Schema) *rowShape {
	s := &rowShape{fields: map[string]*types.FieldType{}, byName: map[string]int{}}
	for i, c := range sch {
		i := i
		k := columnKind(c.Type)
		s.names = append(s.names, c.Name)
		s.kinds = append(s.kinds, k)
		s.sqlTyp = append(s.sqlTyp, c.Type)
		typ := c.Type
		ft := &types.FieldType{
			Type:  fieldType(c),
			IsSet: func(obj any) bool { r, ok := obj.(*rowValue); return ok && i < len(r.row) && r.row[i] != nil },
			GetFrom: func(obj any) (any, error) {
				r, ok := obj.(*rowValue)
				if !ok || i >= len(r.row) {
					return nil, fmt.Errorf("policy: row has no column %d", i)
				}
				return toCEL(k, typ, r.row[i]), nil
			},
		}
		s.fields[strings.ToLower(c.Name)] = ft
		s.byName[strings.ToLower(c.Name)] = i
	}
	return s
}

// provider adds the row and principal object types to CEL's registry.
type provider struct {
	*types.Registry
	row *rowShape
}

var principalFields = map[string]*types.FieldType{
	"name": {Type: cel.StringType, IsSet: func(any) bool { return true },
		GetFrom: func(obj any) (any, error) { return obj.(*principalValue).name, nil }},
	"host": {Type: cel.StringType, IsSet: func(any) bool { return true },
		GetFrom: func(obj any) (any, error) { return obj.(*principalValue).host, nil }},
	"roles": {Type: cel.ListType(cel.StringType), IsSet: func(any) bool { return true },
		GetFrom: func(obj any) (any, error) { return obj.(*principalValue).roles, nil }},
	"attributes": {Type: cel.MapType(cel.StringType, cel.DynType), IsSet: func(any) bool { return true },
		GetFrom: func(obj any) (any, error) { return obj.(*principalValue).attributes, nil }},
}

func (p *provider) FindStructType(name string) (*types.Type, bool) {
	switch name {
	case rowTypeName, principalTypeName:
		return types.NewTypeTypeWithParam(types.NewObjectType(name)), true
	}
	return p.Registry.FindStructType(name)
}

func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	switch name {
	case rowTypeName:
		return p.row.names, true
	case principalTypeName:
		return []string{"attributes", "host", "name", "roles"}, true
	}
	return p.Registry.FindStructFieldNames(name)
}

func (p *provider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	switch name {
	case rowTypeName:
		ft, ok := p.row.fields[strings.ToLower(field)]
		return ft, ok
	case principalTypeName:
		ft, ok := principalFields[field]
		return ft, ok
	}
	return p.Registry.FindStructFieldType(name, field)
}

// NewValue refuses to build rows or principals in an expression.
func (p *provider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if name == rowTypeName || name == principalTypeName {
		return types.NewErr("policy: %s cannot be constructed", name)
	}
	return p.Registry.NewValue(name, fields)
}

// newEnv returns the CEL environment of a table: row typed from sch,
// principal fixed.
func newEnv(sch gmssql.Schema) (*cel.Env, *rowShape, error) {
	reg, err := types.NewRegistry()
	if err != nil {
		return nil, nil, err
	}
	shape := newRowShape(sch)
	env, err := cel.NewEnv(
		cel.CustomTypeProvider(&provider{Registry: reg, row: shape}),
		cel.Variable("row", cel.ObjectType(rowTypeName)),
		cel.Variable("principal", cel.ObjectType(principalTypeName)),
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
	)
	return env, shape, err
}

// rowValue is a stored row bound to `row`: fields convert on access.
type rowValue struct {
	row gmssql.Row
}

var rowObjType = types.NewObjectType(rowTypeName)

func (r *rowValue) ConvertToNative(reflect.Type) (any, error) {
	return nil, fmt.Errorf("policy: row cannot leave CEL")
}
func (r *rowValue) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return rowObjType
	}
	return types.NewErr("policy: row has no conversion to %s", t.TypeName())
}
func (r *rowValue) Equal(other ref.Val) ref.Val { return types.Bool(other == ref.Val(r)) }
func (r *rowValue) Type() ref.Type              { return rowObjType }
func (r *rowValue) Value() any                  { return r }

// principalValue is a Principal bound to `principal`.
type principalValue struct {
	name, host ref.Val
	roles      ref.Val
	attributes ref.Val
}

var principalObjType = types.NewObjectType(principalTypeName)

func (p *principalValue) ConvertToNative(reflect.Type) (any, error) {
	return nil, fmt.Errorf("policy: principal cannot leave CEL")
}
func (p *principalValue) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return principalObjType
	}
	return types.NewErr("policy: principal has no conversion to %s", t.TypeName())
}
func (p *principalValue) Equal(other ref.Val) ref.Val { return types.Bool(other == ref.Val(p)) }
func (p *principalValue) Type() ref.Type              { return principalObjType }
func (p *principalValue) Value() any                  { return p }
